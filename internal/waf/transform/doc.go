// Package transform implements the SecLang transformations (the t: action) that the OWASP
// Core Rule Set v4.25.0 uses, producing byte for byte what Coraza v3.8.1 produces, including
// the "changed" flag Coraza's multiMatch evaluation depends on and the way Coraza's rule engine
// chains transformations.
//
// The implementations are Kordon's own, written from a reading of Coraza's behaviour and checked
// against the real Coraza by differential tests and fuzz targets (see transform_test.go). A
// transformation that is not implemented here is reported by Lookup (ok false) and Compile (an
// error); the package never guesses.
//
// Every transformation runs in time and memory linear in its input (utf8toUnicode and
// htmlEntityDecode may grow the output by a bounded factor: at most 7 bytes and 4 bytes per input
// byte respectively), never panics on any input, and returns its input string itself, without
// allocating, when the input holds none of the bytes it reacts to.
//
// All values in this package are immutable after construction and safe for concurrent use.
package transform
