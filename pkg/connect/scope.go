package connect

import (
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// azureCloud is one Azure cloud as far as signing in to PostgreSQL goes.
type azureCloud struct {
	name string // as the file spells it
	// hostSuffix ends the host names of the cloud's PostgreSQL servers.
	hostSuffix string
	// resource is what an access token must be for (its audience).
	resource string
	// authority configures azidentity's credentials that talk to Entra ID
	// themselves; the zero value keeps azidentity's default, public cloud
	// unless AZURE_AUTHORITY_HOST says otherwise.
	authority cloud.Configuration
}

var clouds = []azureCloud{
	{name: "public", hostSuffix: ".postgres.database.azure.com", resource: "https://ossrdbms-aad.database.windows.net"},
	{name: "usgovernment", hostSuffix: ".postgres.database.usgovcloudapi.net", resource: "https://ossrdbms-aad.database.usgovcloudapi.net", authority: cloud.AzureGovernment},
	{name: "china", hostSuffix: ".postgres.database.chinacloudapi.cn", resource: "https://ossrdbms-aad.database.chinacloudapi.cn", authority: cloud.AzureChina},
}

// Scope is the OAuth scope of the access token that signs in to the
// PostgreSQL server host: the cloud's PostgreSQL resource + "/.default".
//
// cloud is public, usgovernment or china (any case). When it is "", the
// cloud is the one whose server host names end host (for instance
// .postgres.database.usgovcloudapi.net); a host of no known cloud, such as an
// IP address, a private DNS name or a CNAME of one's own, is taken to be in
// the public cloud: set cloud in the file for anything else.
func Scope(host, cloud string) (string, error) {
	c, err := cloudOf(host, cloud)
	if err != nil {
		return "", err
	}
	return c.scope(), nil
}

// scope is the OAuth scope of the cloud's PostgreSQL resource.
func (c azureCloud) scope() string { return c.resource + "/.default" }

func cloudOf(host, name string) (azureCloud, error) {
	if name != "" {
		for _, c := range clouds {
			if strings.EqualFold(name, c.name) {
				return c, nil
			}
		}
		return azureCloud{}, fmt.Errorf("unknown cloud %q: use public, usgovernment or china", name)
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, c := range clouds {
		if strings.HasSuffix(h, c.hostSuffix) {
			return c, nil
		}
	}
	return clouds[0], nil
}
