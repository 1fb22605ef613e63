#include "status_errors.h"

#include <cerrno>

namespace alluvium::python {
namespace {

// OSError(errno, message): Python picks the subclass for the errno (ENOENT: FileNotFoundError).
void SetOsError(PyObject* type, int err, const std::string& message) {
  PyObject* args = Py_BuildValue("(is)", err, message.c_str());
  if (args == nullptr) return;  // the error of building it is set
  PyErr_SetObject(type, args);
  Py_DECREF(args);
}

void SetFromStatus(const StatusError& e) {
  const std::string message(e.status.message());
  if (e.errno_override != 0) return SetOsError(PyExc_OSError, e.errno_override, message);
  switch (e.status.code()) {
    case Code::kNotFound:
      return SetOsError(PyExc_FileNotFoundError, ENOENT, message);
    case Code::kPermissionDenied:
    case Code::kUnauthenticated:
      return SetOsError(PyExc_PermissionError, EACCES, message);
    case Code::kInvalidArgument:
      PyErr_SetString(PyExc_ValueError, message.c_str());
      return;
    case Code::kUnavailable:
      return SetOsError(PyExc_ConnectionError, ECONNREFUSED, message);
    case Code::kDeadlineExceeded:
      return SetOsError(PyExc_TimeoutError, ETIMEDOUT, message);
    default:
      return SetOsError(PyExc_OSError, EIO, message);
  }
}

}  // namespace

void RegisterStatusErrors(pybind11::module_&) {
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      SetFromStatus(e);
    }
  });
}

}  // namespace alluvium::python
