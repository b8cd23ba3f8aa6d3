package connect

import "github.com/Azure/azure-sdk-for-go/sdk/azcore"

// CloudName is the cloud (public, usgovernment, china) of a server entry:
// its cloud setting, else the one its host's name belongs to, as Scope
// decides it.
func CloudName(host, cloud string) (string, error) {
	c, err := cloudOf(host, cloud)
	return c.name, err
}

// ForGraph is the credential of kind and clientID for Microsoft Graph in
// cloud: the run's sign-in, asked for Graph's scope (azidentity caches a
// token per scope), as ForResourceManager is for Resource Manager.
func (c *Credentials) ForGraph(kind, clientID, cloud string) (azcore.TokenCredential, error) {
	return c.ForResourceManager(kind, clientID, cloud)
}
