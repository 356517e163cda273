package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmed/openmed/core/tensor"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type jsonTensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func loadLoraJSON(t *testing.T, arch string) (keys []string, initial, updated map[string]jsonTensor) {
	b, err := os.ReadFile(fixture(t, arch, "lora.json"))
	require.NoError(t, err)
	var l struct {
		Keys    []string              `json:"trainable_parameter_keys"`
		Initial map[string]jsonTensor `json:"initial_params"`
		Updated map[string]jsonTensor `json:"updated_params"`
	}
	require.NoError(t, json.Unmarshal(b, &l))
	return l.Keys, l.Initial, l.Updated
}

func TestLoadAdapterFixtures(t *testing.T) {
	prefix := map[string]string{"bert": "bert", "electra": "electra", "deberta_v3": "deberta"}
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			keys, initial, updated := loadLoraJSON(t, arch)
			for dir, want := range map[string]map[string]jsonTensor{"adapter": initial, "adapter_step1": updated} {
				cfg, m, err := LoadAdapter(fixture(t, arch, dir))
				require.NoError(t, err)
				assert.Equal(t, PeftLoRA, cfg.PeftType)
				assert.Equal(t, TaskTokenClassification, cfg.TaskType)
				assert.Equal(t, 4, cfg.R)
				assert.Equal(t, 8.0, cfg.LoraAlpha)
				assert.Equal(t, 2.0, cfg.Scaling())
				assert.Equal(t, BiasNone, cfg.Bias)
				assert.False(t, cfg.FanInFanOut)
				assert.True(t, cfg.InferenceMode)
				assert.Equal(t, []string{"classifier", "score"}, cfg.ModulesToSave)
				assert.Equal(t, arch, cfg.BaseModelNameOrPath)
				assert.Len(t, cfg.TargetModules, 2)
				q := prefix[arch] + ".encoder.layer.0.attention.self.query"
				if arch == "deberta_v3" {
					q += "_proj"
				}
				assert.True(t, cfg.Targets(q))
				assert.False(t, cfg.Targets(prefix[arch]+".encoder.layer.0.attention.self.key"))
				require.Len(t, m, 10)
				require.ElementsMatch(t, keys, sortedKeys(m))
				for _, k := range keys {
					assert.True(t, strings.HasPrefix(k, AdapterPrefix+prefix[arch]+".") || strings.HasPrefix(k, AdapterPrefix+"classifier."), k)
					assert.Equal(t, want[k].Shape, m[k].Shape, k)
					assert.Equal(t, want[k].Data, m[k].Data, k)
				}
			}
		})
	}
}

func TestSaveAdapterRoundTrip(t *testing.T) {
	cfg, m, err := LoadAdapter(fixture(t, "deberta_v3", "adapter"))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "adapter")
	require.NoError(t, SaveAdapter(out, cfg, m))
	orig, err := os.ReadFile(fixture(t, "deberta_v3", "adapter", AdapterSafetensorsFile))
	require.NoError(t, err)
	saved, err := os.ReadFile(filepath.Join(out, AdapterSafetensorsFile))
	require.NoError(t, err)
	assert.Equal(t, orig, saved, "adapter weights are byte-identical to PEFT's file")
	var a, b map[string]any
	ob, _ := os.ReadFile(fixture(t, "deberta_v3", "adapter", AdapterConfigFile))
	sb, _ := os.ReadFile(filepath.Join(out, AdapterConfigFile))
	require.NoError(t, json.Unmarshal(ob, &a))
	require.NoError(t, json.Unmarshal(sb, &b))
	assert.Equal(t, a, b, "every PEFT field survives")

	cfg2, _, err := LoadAdapter(out)
	require.NoError(t, err)
	assert.Equal(t, cfg.TargetModules, cfg2.TargetModules)

	bad := map[string]*tensor.Tensor{"classifier.weight": m[AdapterPrefix+"classifier.weight"]}
	err = SaveAdapter(t.TempDir(), cfg, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "prefix")
}

func TestAdapterConfigForms(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, AdapterConfigFile), []byte(s), 0o644))
	}
	write(`{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":".*attention.*(query|value)","use_rslora":true}`)
	c, err := LoadAdapterConfig(dir)
	require.NoError(t, err)
	assert.Nil(t, c.TargetModules)
	assert.Equal(t, ".*attention.*(query|value)", c.TargetModulesRegex)
	assert.InDelta(t, 16/2.8284271247461903, c.Scaling(), 1e-12)
	write(`{"peft_type":"PREFIX_TUNING","r":8}`)
	_, err = LoadAdapterConfig(dir)
	assert.ErrorContains(t, err, "peft_type")
	write(`{"peft_type":"LORA","r":0}`)
	_, err = LoadAdapterConfig(dir)
	assert.ErrorContains(t, err, "field r")
	d := DefaultLoRAConfig(ModelDebertaV2, 16, 32)
	assert.Equal(t, []string{"query_proj", "value_proj"}, d.TargetModules)
	assert.Equal(t, 2.0, d.Scaling())
}
