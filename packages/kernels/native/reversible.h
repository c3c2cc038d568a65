// Reversible BPTT for exactly orthogonal linear recurrences (native/reversible.cc).
#pragma once

#include <node_api.h>

namespace oq {
// reversibleBackward(kind, T, B, n, m, threads, z, w, h0|null, atStart, h, carry, anchorEvery, anchors|null, dH, dz, dw, p, hp|null)
napi_value ReversibleBackward(napi_env env, napi_callback_info info);
}  // namespace oq
