package checkpoint

import (
	"errors"

	"github.com/openmed/openmed/core/tensor"
)

// ReadPytorchBin reads a torch.save zip checkpoint (pytorch_model.bin).
func ReadPytorchBin(path string) (map[string]*tensor.Tensor, error) {
	return nil, errors.New(path + ": pytorch_model.bin reading not implemented yet")
}
