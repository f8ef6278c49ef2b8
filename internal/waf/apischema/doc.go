// Package apischema checks HTTP requests against the OpenAPI 3.0 or 3.1
// description of an API: the positive security model of the WAF, in which
// a request that the API does not declare — an unknown route, a method the
// route lacks, a parameter or body that does not fit its schema — is a
// violation, whatever its content.
//
// A Schema is built once from the specification (Load) and is safe for
// concurrent use. Check judges one request whose body the caller has
// already read within its limit; it never reads the network and never
// follows a $ref outside the document.
package apischema
