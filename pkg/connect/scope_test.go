package connect

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScope(t *testing.T) {
	const (
		public = "https://ossrdbms-aad.database.windows.net/.default"
		usgov  = "https://ossrdbms-aad.database.usgovcloudapi.net/.default"
		china  = "https://ossrdbms-aad.database.chinacloudapi.cn/.default"
	)
	tests := map[string]struct {
		host, cloud string
		want        string
		wantErr     string
	}{
		"public host":                    {host: "orders-prod.postgres.database.azure.com", want: public},
		"public private link host":       {host: "orders-prod.privatelink.postgres.database.azure.com", want: public},
		"us government host":             {host: "orders.postgres.database.usgovcloudapi.net", want: usgov},
		"china host":                     {host: "orders.postgres.database.chinacloudapi.cn", want: china},
		"host in upper case, final dot":  {host: "ORDERS.POSTGRES.DATABASE.CHINACLOUDAPI.CN.", want: china},
		"unknown host is public":         {host: "db.internal.example", want: public},
		"address is public":              {host: "10.1.2.3", want: public},
		"cloud wins over host":           {host: "orders.postgres.database.azure.com", cloud: "usgovernment", want: usgov},
		"cloud for a private name":       {host: "db.internal.example", cloud: "china", want: china},
		"cloud public":                   {host: "x.postgres.database.chinacloudapi.cn", cloud: "public", want: public},
		"cloud in another case":          {host: "db", cloud: "USGovernment", want: usgov},
		"unknown cloud":                  {host: "db", cloud: "azurestack", wantErr: `unknown cloud "azurestack": use public, usgovernment or china`},
		"lookalike suffix is not a host": {host: "evil-postgres.database.usgovcloudapi.net.example", want: public},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Scope(tc.host, tc.cloud)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("scope (-want +got):\n%s", diff)
			}
		})
	}
}
