// Package transform implements the SecLang transformations (the t: action) that the OWASP
// Core Rule Set v4.25.0 uses, producing byte for byte what Coraza v3.8.1 produces, including
// the "changed" flag Coraza's multiMatch evaluation depends on and the way Coraza's rule engine
// chains transformations.
//
// The implementations are Kordon's own, written from a reading of Coraza's behaviour and checked
// against the real Coraza by differential tests and fuzz targets (see transform_test.go). Every
// transformation Coraza v3.8.1 registers is implemented, under every name Coraza accepts for it
// (case-insensitively, and normalisePath/normalisePathWin as aliases). A transformation that is
// not implemented here (one that a plugin registers with Coraza, or one Coraza lacks, such as
// ModSecurity's sqlHexDecode) is reported by Lookup (ok false) and Compile (an error); the
// package never guesses. A plugin that re-registers one of Coraza's names changes Coraza's
// behaviour but not this package's: the caller must not screen rules in that case.
//
// Every transformation runs in time and memory linear in its input and never panics on any
// input. Outputs are at most as long as their inputs except for utf8toUnicode (at most six times:
// an invalid byte becomes "%ufffd"), urlEncode and hexEncode (three and two times), base64Encode
// (four thirds), htmlEntityDecode (six fifths: "&nGt;" decodes to six bytes) and length and the
// hashes (a few bytes). A transformation returns its input string itself, without allocating,
// when the input holds none of the bytes it reacts to.
//
// Some of Coraza's behaviour is reproduced although it looks surprising: htmlEntityDecode reports
// a change only when the length changes (so "&acE;", which decodes to five bytes, is decoded but
// reported unchanged, and multiMatch does not see it); lowercase and removeWhitespace turn
// invalid UTF-8 into U+FFFD when they change anything; normalizePath turns "/" into "//";
// removeComments copies the byte after a comment's end unexamined (a NUL when the comment ends
// the value). The differential tests pin all of these to Coraza v3.8.1.
//
// All values in this package are immutable after construction and safe for concurrent use.
package transform
