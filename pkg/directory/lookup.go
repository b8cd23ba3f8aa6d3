package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Lookup returns the objects of ids (object ids, any case) that exist in
// Entra, by lower-case id; an id absent from the answer is gone (deleted).
// Each id is asked once per Client.
func (c *Client) Lookup(ctx context.Context, ids []string) (map[string]Object, error) {
	out := map[string]Object{}
	var reqs []*request
	c.mu.Lock()
	asked := map[string]bool{}
	for _, id := range ids {
		id = strings.ToLower(id)
		if id == "" || asked[id] {
			continue
		}
		asked[id] = true
		if o, ok := c.objects[id]; ok {
			if o != nil {
				out[id] = *o
			}
			continue
		}
		reqs = append(reqs, &request{
			url:  "/directoryObjects/" + url.PathEscape(id) + "?$select=" + selected,
			what: "directory object " + id,
			perm: "User.Read.All (users), GroupMember.Read.All (groups) and Application.Read.All (service principals)",
			handle: func(status int, body json.RawMessage) error {
				c.mu.Lock()
				defer c.mu.Unlock()
				switch status {
				case http.StatusOK:
					var w wireObject
					if err := json.Unmarshal(body, &w); err != nil {
						return fmt.Errorf("Microsoft Graph: directory object %s: %w", id, err)
					}
					o := w.object()
					c.objects[id] = &o
				case http.StatusNotFound:
					c.objects[id] = nil
				default:
					code, msg := graphError(body)
					return fmt.Errorf("Microsoft Graph: directory object %s: %d %s: %s", id, status, code, msg)
				}
				return nil
			},
		})
	}
	c.mu.Unlock()
	if err := c.run(ctx, reqs); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range asked {
		if o := c.objects[id]; o != nil {
			out[id] = *o
		}
	}
	return out, nil
}

// Members returns the transitive members of each group of groupIDs (object
// ids), by lower-case id, sorted by name; a group that is gone has none.
// Each group is asked once per Client.
func (c *Client) Members(ctx context.Context, groupIDs []string) (map[string][]Object, error) {
	var reqs []*request
	pending := map[string][]Object{}
	c.mu.Lock()
	asked := map[string]bool{}
	for _, id := range groupIDs {
		id = strings.ToLower(id)
		if id == "" || asked[id] {
			continue
		}
		asked[id] = true
		if _, ok := c.members[id]; ok {
			continue
		}
		pending[id] = []Object{}
		reqs = append(reqs, c.membersRequest(id, "/groups/"+url.PathEscape(id)+"/transitiveMembers?$select="+selected+"&$top=999", pending))
	}
	c.mu.Unlock()
	if err := c.run(ctx, reqs); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, ms := range pending {
		slices.SortFunc(ms, func(a, b Object) int { return strings.Compare(a.Name()+"\x00"+a.ID, b.Name()+"\x00"+b.ID) })
		c.members[id] = ms
	}
	out := map[string][]Object{}
	for id := range asked {
		out[id] = c.members[id]
	}
	return out, nil
}

// membersRequest reads one page of a group's members into pending[id],
// asking for the next page when there is one.
func (c *Client) membersRequest(id, u string, pending map[string][]Object) *request {
	return &request{
		url:  u,
		what: "the members of group " + id,
		perm: "GroupMember.Read.All",
		handle: func(status int, body json.RawMessage) error {
			switch status {
			case http.StatusOK:
			case http.StatusNotFound:
				return nil // the group is gone: Lookup says so
			default:
				code, msg := graphError(body)
				return fmt.Errorf("Microsoft Graph: the members of group %s: %d %s: %s", id, status, code, msg)
			}
			var page struct {
				Value    []wireObject `json:"value"`
				NextLink string       `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				return fmt.Errorf("Microsoft Graph: the members of group %s: %w", id, err)
			}
			c.mu.Lock()
			for _, w := range page.Value {
				pending[id] = append(pending[id], w.object())
			}
			c.mu.Unlock()
			if page.NextLink == "" {
				return nil
			}
			next, err := c.relative(page.NextLink)
			if err != nil {
				return err
			}
			return pageError{next: c.membersRequest(id, next, pending)}
		},
	}
}
