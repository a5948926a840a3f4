package builtins

import "strings"

// Closest returns the candidate nearest to got (ignoring case) within a small edit distance, or
// "". Evaluation and lint both build their "did you mean" hints on it.
func Closest(got string, candidates []string) string {
	best, bestD := "", len(got)/2+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(got), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// suggest returns ` (did you mean X?)` for the closest candidate, or "".
func suggest(got string, candidates []string) string {
	if best := Closest(got, candidates); best != "" {
		return " (did you mean " + best + "?)"
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
