package tensor

import "fmt"

// Gather copies rows ids[i] of table (vocab×dim) into out[i] (torch
// nn.Embedding forward). It returns an error naming the first id outside
// [0, vocab).
func Gather(out, table []float32, ids []int32, dim int) error {
	vocab := len(table) / dim
	for i, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("tensor: embedding index %d at position %d outside [0,%d)", id, i, vocab)
		}
	}
	Parallel(len(ids), 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			id := int(ids[i])
			copy(out[i*dim:(i+1)*dim], table[id*dim:(id+1)*dim])
		}
	})
	return nil
}

// ScatterAdd accumulates dout[i] into dtable[ids[i]] (the embedding
// gradient). Workers split the embedding columns, so repeated ids never race.
// Rows equal to skip (e.g. padding_idx, whose gradient torch keeps at zero)
// are left out; pass -1 to keep all.
func ScatterAdd(dtable, dout []float32, ids []int32, dim int, skip int32) {
	Parallel(dim, 64, func(lo, hi int) {
		for i, id := range ids {
			if id == skip {
				continue
			}
			d := dtable[int(id)*dim+lo : int(id)*dim+hi]
			s := dout[i*dim+lo : i*dim+hi]
			for j := range d {
				d[j] += s[j]
			}
		}
	})
}
