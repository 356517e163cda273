package dapt

import "math"

// sinusoidalInit fills table [maxPos, dim] with the sinusoidal encoding of
// Vaswani et al. 2017 §3.5, PE(p, 2i) = sin(p / 10000^(2i/dim)) and
// PE(p, 2i+1) = cos(p / 10000^(2i/dim)), rescaled so its standard deviation
// is std (the encoding's own is 1/√2), the scale of the word embeddings it is
// added to.
func sinusoidalInit(table []float32, maxPos, dim int, std float64) {
	scale := std * math.Sqrt2
	for p := 0; p < maxPos; p++ {
		row := table[p*dim : (p+1)*dim]
		for i := 0; i < dim; i += 2 {
			angle := float64(p) / math.Pow(10000, float64(i)/float64(dim))
			row[i] = float32(scale * math.Sin(angle))
			if i+1 < dim {
				row[i+1] = float32(scale * math.Cos(angle))
			}
		}
	}
}
