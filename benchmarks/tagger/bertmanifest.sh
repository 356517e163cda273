# Sourced by the tagger benchmarks: bert_manifest DIR NAME... writes a
# default.json tagger folder at DIR whose adapters NAME... are all copies of
# the archived BERT-base NCBI-Disease lora-mixed run (the shapes are what the
# benchmarks measure) over the archived DAPT delta, base bert-base-cased from
# the encoder cache (ENCODERS=bert-base-cased make encoders).
BERT_RUN=benchmarks/recipe/runs/bert-base-cased/NCBI-Disease/lora-mixed
BERT_DAPT=benchmarks/recipe/runs/dapt-bert-base-cased/dapt_adapter

bert_manifest() {
  local dir=$1 n adapters=""
  shift
  [ -f "$BERT_RUN/adapter_model.safetensors" ] || { echo "$BERT_RUN has no adapter (run the recipe grid)" >&2; return 1; }
  mkdir -p "$dir"
  cp -r "$BERT_DAPT" "$dir/bert-base-cased-dapt"
  for n in "$@"; do
    mkdir "$dir/$n"
    cp "$BERT_RUN"/{adapter_config.json,adapter_model.safetensors,config.json,special_tokens_map.json,tokenizer_config.json,vocab.txt} "$dir/$n/"
    adapters="$adapters${adapters:+, }\"$n\": \"$n\""
  done
  printf '{"base_encoder": "bert-base-cased", "base_adapter": "bert-base-cased-dapt", "adapters": {%s}, "tag_with": "all"}\n' "$adapters" > "$dir/default.json"
}
