// Package iprange cuts the address space into the disjoint ranges that a
// set of CIDR blocks defines, so that every range is either wholly inside
// or wholly outside each block. Kordon shows addresses outside the cluster
// as these ranges.
package iprange
