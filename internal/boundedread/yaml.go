package boundedread

import "go.yaml.in/yaml/v3"

// MaxAliasNodes is how many nodes the aliases of one YAML document may
// stand for, counted as if each alias were a copy of its anchor's value: a
// few shared blocks of settings fit many times over; a "billion laughs"
// document, whose aliases nest, does not.
const MaxAliasNodes = 10_000

// CheckAliases returns the first alias of doc, in document order, at which
// the nodes its aliases stand for pass MaxAliasNodes, or nil when they never
// do. An alias to a node that holds itself counts as too many. It takes time
// linear in the nodes of doc as parsed, not as expanded: decoding doc, or
// walking it through its aliases, after a nil answer touches at most
// MaxAliasNodes nodes more than doc holds.
func CheckAliases(doc *yaml.Node) *yaml.Node {
	c := aliasCounter{size: map[*yaml.Node]int{}}
	return c.walk(doc)
}

type aliasCounter struct {
	// size is the expanded size of each node measured, capped at
	// MaxAliasNodes+1; -1 while it is being measured.
	size  map[*yaml.Node]int
	total int
}

// walk visits n as parsed, adding what each alias stands for.
func (c *aliasCounter) walk(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		c.total += c.expanded(n.Alias)
		if c.total > MaxAliasNodes {
			return n
		}
		return nil
	}
	for _, k := range n.Content {
		if a := c.walk(k); a != nil {
			return a
		}
	}
	return nil
}

// expanded is the number of nodes n stands for, aliases expanded, capped at
// MaxAliasNodes+1.
func (c *aliasCounter) expanded(n *yaml.Node) int {
	const over = MaxAliasNodes + 1
	if n == nil {
		return 0
	}
	if s, ok := c.size[n]; ok {
		if s < 0 {
			return over // n holds itself
		}
		return s
	}
	c.size[n] = -1
	s := 1
	if n.Kind == yaml.AliasNode {
		s = c.expanded(n.Alias)
	}
	for _, k := range n.Content {
		s = min(s+c.expanded(k), over)
	}
	c.size[n] = s
	return s
}
