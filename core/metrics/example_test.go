package metrics_test

import (
	"fmt"

	"github.com/openmed/openmed/core/metrics"
)

func ExampleEvaluate() {
	gold := [][]string{{"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}}
	pred := [][]string{{"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}}
	r, err := metrics.Evaluate(gold, pred)
	if err != nil {
		panic(err)
	}
	fmt.Printf("micro F1 %.2f, token accuracy %.2f\n", r.Micro.F1, r.TokenAccuracy)
	fmt.Print(r.Text(2))
	// Output:
	// micro F1 0.50, token accuracy 0.80
	//               precision    recall  f1-score   support
	//
	//         MISC       0.00      0.00      0.00         1
	//          PER       1.00      1.00      1.00         1
	//
	//    micro avg       0.50      0.50      0.50         2
	//    macro avg       0.50      0.50      0.50         2
	// weighted avg       0.50      0.50      0.50         2
}
