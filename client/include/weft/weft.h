#pragma once

// The Weft client API: include <weft/weft.h>, link weft::weft.
#include "weft/actor.h"
#include "weft/async.h"
#include "weft/blob.h"
#include "weft/cancel.h"
#include "weft/cluster.h"
#include "weft/error.h"
#include "weft/generator.h"
#include "weft/object_ref.h"
#include "weft/registry.h"
#include "weft/runtime.h"
#include "weft/serialization.h"
#include "weft/stable_string.h"
#include "weft/state.h"
#include "weft/task.h"
