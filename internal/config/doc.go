// Package config reads .kordon.yaml, the configuration file of the kordon
// command: default values for the flags of every command or of one
// command, exceptions, and the values of rule parameters. Find locates the
// file the way kordon does when --config is not given; Load reads and
// checks it, every problem named file:line: field: message; Apply sets
// the flags a command line left unset.
package config
