"""openmed: biomedical named-entity recognition the OpenMed NER way.

A ctypes binding of libopenmed (the Go library's C ABI; no third-party
Python dependencies)::

    import openmed
    openmed.tokenize("Familial adenomatous polyposis.", tokenizer="path/to/tokenizer")
    openmed.evaluate(gold="gold.tsv", pred="pred.tsv")
    with openmed.load("model_dir") as tagger:
        tagger.tag("BRCA1 mutations cause breast cancer.")
    openmed.search("encoder", "train.tsv", "devel.tsv", "study_dir", test="test.tsv", trials=40)

Errors raise OpenMedError subclasses carrying the Go message. The library is
found through OPENMED_LIB, then the package folder, then <repo>/build/.
"""

from ._lib import find_library, library_path, version
from .api import (
    Tagger,
    Tokenizer,
    dapt,
    evaluate,
    export_onnx,
    install_encoders,
    load,
    merge,
    search,
    select,
    tag,
    tokenize,
    train,
)
from .errors import (
    BadInputError,
    CancelledError,
    NotAvailableError,
    NotFoundError,
    OpenMedError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "BadInputError",
    "CancelledError",
    "NotAvailableError",
    "NotFoundError",
    "OpenMedError",
    "Tagger",
    "Tokenizer",
    "dapt",
    "evaluate",
    "export_onnx",
    "find_library",
    "install_encoders",
    "library_path",
    "load",
    "merge",
    "search",
    "select",
    "tag",
    "tokenize",
    "train",
    "version",
]
