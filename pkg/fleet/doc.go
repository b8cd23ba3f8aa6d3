// Package fleet runs one piece of work for each of many servers on a
// bounded pool of workers. Results stay in the servers' order whatever
// finishes first, and one server's failure never stops the others.
package fleet
