#pragma once

// The Weft client API. Link `weft::client` and include this header.
#include "weft/cluster.h"
