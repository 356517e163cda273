package main

/*
#include "openmed_capi.h"
*/
import "C"

import "sync"

// statusNames caches the static strings openmed_status_name returns.
var (
	statusNamesMu sync.Mutex
	statusNames   = map[string]*C.char{}
)
