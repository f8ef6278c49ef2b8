// Package explain says why a connection is allowed or denied: which
// policies isolate each side, which of their rules match the other end and
// on which ports — what `kordon netpol can` answers. Package render prints
// the explanation.
package explain
