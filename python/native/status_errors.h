// Status to Python exception: the one mapping for alluvium._native. A C++ call throws
// StatusError (safe without the GIL: it is translated once the GIL is back), and Python sees
// the built-in exception a file API raises for that failure, with the server's message:
//   kNotFound                            FileNotFoundError (ENOENT)
//   kPermissionDenied, kUnauthenticated  PermissionError (EACCES)
//   kInvalidArgument                     ValueError
//   kUnavailable                         ConnectionError (ECONNREFUSED)
//   kDeadlineExceeded                    TimeoutError (ETIMEDOUT)
//   anything else                        OSError (EIO)
// StatusError::WithErrno picks the OSError subclass itself (IsADirectoryError for a read of a
// directory, EROFS for writes).
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "common/status.h"

namespace alluvium::python {

struct StatusError {
  Status status;
  int errno_override = 0;  // nonzero: OSError with this errno, whatever the code
  static StatusError WithErrno(int err, std::string message) {
    return {InternalError(std::move(message)), err};
  }
};

inline void ThrowIfError(const Status& status) {
  if (!status.ok()) throw StatusError{status};
}

void RegisterStatusErrors(pybind11::module_& m);

}  // namespace alluvium::python
