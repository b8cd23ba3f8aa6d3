package discover

import (
	"fmt"
	"maps"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// Sovereign returns the azcore cloud configuration of a pgusers cloud name,
// as the files spell it: public (or ""), usgovernment or china, in any
// case. Set it as Options.Cloud so that Discover calls that cloud's
// Resource Manager (management.azure.com, management.usgovcloudapi.net,
// management.chinacloudapi.cn) with tokens for its audience, and give the
// same configuration to the azidentity credential
// (azcore.ClientOptions.Cloud) so that it signs in to that cloud's Entra ID.
//
// The configuration is a copy: changing it does not change azcore's.
func Sovereign(name string) (cloud.Configuration, error) {
	var c cloud.Configuration
	switch strings.ToLower(name) {
	case "", "public":
		c = cloud.AzurePublic
	case "usgovernment":
		c = cloud.AzureGovernment
	case "china":
		c = cloud.AzureChina
	default:
		return cloud.Configuration{}, fmt.Errorf("unknown cloud %q: use public, usgovernment or china", name)
	}
	c.Services = maps.Clone(c.Services)
	return c, nil
}
