package scheme_test

import (
	"fmt"

	"github.com/openmed/openmed/core/scheme"
)

func ExampleDecode() {
	tags := []string{"O", "I-Disease", "I-Disease", "O", "B-Disease"}
	fmt.Println(scheme.Decode(tags, scheme.Default, scheme.IOB2))
	fmt.Println(scheme.Decode(tags, scheme.Strict, scheme.IOB2))
	fmt.Println(scheme.RepairIOB2(tags))
	// Output:
	// [Disease[1,3) Disease[4,5)]
	// [Disease[4,5)]
	// [O B-Disease I-Disease O B-Disease]
}

func ExampleConvert() {
	bilou, _ := scheme.Convert([]string{"B-X", "I-X", "I-X", "O", "B-X"}, scheme.IOB2, scheme.BILOU)
	fmt.Println(bilou)
	// Output: [B-X I-X L-X O U-X]
}
