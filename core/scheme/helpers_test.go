package scheme

import "fmt"

func fmtSscanf(s string, a, b *int) (int, error) { return fmt.Sscanf(s, "%d-%d", a, b) }
