//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

func adam(w, g, m, v []float32, c *Consts) int {
	if !cpu.X86.HasAVX || len(w) < 8 {
		return 0
	}
	n := len(w) &^ 7
	adamAVX(w[:n], g[:n], m[:n], v[:n], c)
	return n
}

//go:noescape
func adamAVX(w, g, m, v []float32, c *Consts)
