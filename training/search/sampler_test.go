package search

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmed/openmed/training/hpo"
)

func TestParseSampler(t *testing.T) {
	for _, name := range []string{"tpe", "tpe-univariate", "random"} {
		s, err := ParseSampler(name)
		require.NoError(t, err)
		assert.Equal(t, name, s.String())
	}
	_, err := ParseSampler("grid")
	assert.ErrorContains(t, err, `"grid"`)

	c, err := SamplerTPE.Config(5)
	require.NoError(t, err)
	assert.Equal(t, hpo.DefaultConfig().Sampler.TPE.Parzen.Multivariate, c.TPE.Parzen.Multivariate, "tpe is hpo's default")
	assert.True(t, c.TPE.Parzen.Multivariate)
	assert.Equal(t, uint64(5), c.Seed)
	c, err = SamplerTPEUnivariate.Config(0)
	require.NoError(t, err)
	assert.False(t, c.TPE.Parzen.Multivariate)
	assert.Equal(t, hpo.SamplerTPE, c.Kind)
	c, err = SamplerRandom.Config(0)
	require.NoError(t, err)
	assert.Equal(t, hpo.SamplerRandom, c.Kind)
}
