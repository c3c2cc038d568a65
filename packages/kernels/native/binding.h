// The Node-API layer of the addon, the one place that talks to N-API: a typed reader of a call's
// arguments (`Args`) and the description of one exported function (`Export`). An op's binding is a
// function `napi_value Name(const Args& a)` that reads its arguments by position, checks them and
// runs the kernel; binding.cc lists every export and turns ArgError (and any std::exception) into
// a JS error "orthoquant_kernels.<name>: <message>". Every buffer length is checked here: a wrong
// length must never become an out-of-bounds write.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <exception>
#include <string>

namespace oq {

struct ArgError {
  std::string msg;
};

inline int32_t getInt(napi_env env, napi_value v, const char* name) {
  int32_t out = 0;
  if (napi_get_value_int32(env, v, &out) != napi_ok) throw ArgError{std::string(name) + " must be a number"};
  return out;
}

inline bool isNullish(napi_env env, napi_value v) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  return type == napi_null || type == napi_undefined;
}

// The data and length of a typed array of `type`; else "<name> must be <typeName>".
inline void* getTypedArray(napi_env env, napi_value v, napi_typedarray_type type, const std::string& name, const char* typeName, size_t& length) {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  if (!isTyped) throw ArgError{name + " must be " + typeName};
  napi_typedarray_type ttype;
  void* data = nullptr;
  napi_get_typedarray_info(env, v, &ttype, &length, &data, nullptr, nullptr);
  if (ttype != type) throw ArgError{name + " must be " + typeName};
  return data;
}

// As getTypedArray, of exactly `len` values.
inline void* getTypedArrayOf(napi_env env, napi_value v, napi_typedarray_type type, const std::string& name, const char* typeName, size_t len) {
  size_t length = 0;
  void* data = getTypedArray(env, v, type, name, typeName, length);
  if (length != len) throw ArgError{name + " has " + std::to_string(length) + " values, expected " + std::to_string(len)};
  return data;
}

inline float* getF32(napi_env env, napi_value v, size_t len, const char* name, bool nullable) {
  if (nullable && isNullish(env, v)) return nullptr;
  return static_cast<float*>(getTypedArrayOf(env, v, napi_float32_array, name, "a Float32Array", len));
}

inline int32_t* getI32(napi_env env, napi_value v, size_t len, const char* name) {
  return static_cast<int32_t*>(getTypedArrayOf(env, v, napi_int32_array, name, "an Int32Array", len));
}

// An Int32Array of `len` values, each in [0, m); `name` and `what` name it in the messages.
inline const int32_t* getIndices(napi_env env, napi_value v, size_t len, int m, const std::string& name, const std::string& what = "index") {
  const int32_t* t = static_cast<const int32_t*>(getTypedArrayOf(env, v, napi_int32_array, name, "an Int32Array", len));
  for (size_t r = 0; r < len; r++)
    if (t[r] < 0 || t[r] >= m) throw ArgError{what + " " + std::to_string(t[r]) + " at row " + std::to_string(r) + " is outside [0, " + std::to_string(m) + ")"};
  return t;
}

// The arguments of one call, read by position with their JS names (the names go into the messages).
class Args {
 public:
  Args(napi_env env, const napi_value* v) : env(env), v_(v) {}
  napi_env env;

  napi_value operator[](int k) const { return v_[k]; }
  int32_t i32(int k, const char* name) const { return getInt(env, v_[k], name); }
  bool flag(int k, const char* name) const { return getInt(env, v_[k], name) != 0; }
  double f64(int k, const char* name) const {
    double out = 0.0;
    if (napi_get_value_double(env, v_[k], &out) != napi_ok) throw ArgError{std::string(name) + " must be a number"};
    return out;
  }
  // A Float32Array of exactly `len` values; f32OrNull also takes null/undefined (→ nullptr) while `nullable`.
  float* f32(int k, size_t len, const char* name) const { return getF32(env, v_[k], len, name, false); }
  float* f32OrNull(int k, size_t len, const char* name, bool nullable = true) const { return getF32(env, v_[k], len, name, nullable); }
  // A Float32Array of any length (returned in `len`).
  float* f32Any(int k, const char* name, size_t& len) const {
    return static_cast<float*>(getTypedArray(env, v_[k], napi_float32_array, name, "a Float32Array", len));
  }
  int32_t* i32s(int k, size_t len, const char* name) const { return getI32(env, v_[k], len, name); }
  const int32_t* indices(int k, size_t len, int m, const std::string& name, const std::string& what = "index") const {
    return getIndices(env, v_[k], len, m, name, what);
  }
  // Class targets: an Int32Array of `len` values in [0, m).
  const int32_t* targets(int k, size_t len, int m) const { return getIndices(env, v_[k], len, m, "targets", "target"); }

  napi_value number(double x) const {
    napi_value out;
    napi_create_double(env, x, &out);
    return out;
  }

 private:
  const napi_value* v_;
};

// One exported function: its JS name (also the prefix of its errors), how many arguments it takes
// (−1: not checked) and its body.
struct Export {
  const char* name;
  int argc;
  napi_value (*body)(const Args&);
};

}  // namespace oq
