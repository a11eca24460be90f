#include "dlpack.hpp"

namespace symbreak::bindings {
namespace {

struct Context {
    std::shared_ptr<Buffer> owner;
    std::vector<std::int64_t> shape;
    DLManagedTensor tensor{};
};

void delete_managed(DLManagedTensor* self) { delete static_cast<Context*>(self->manager_ctx); }

void capsule_destructor(PyObject* capsule)
{
    // A consumer renames the capsule to "used_dltensor" and takes over the deleter; otherwise we free it.
    if (PyCapsule_IsValid(capsule, "dltensor")) {
        auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
        if (managed && managed->deleter) managed->deleter(managed);
    }
}

}  // namespace

pybind11::capsule to_dlpack(const std::shared_ptr<Buffer>& buffer, const std::vector<std::int64_t>& shape,
                            DLDataType dtype)
{
    auto* ctx = new Context{buffer, shape, {}};
    DLTensor& t = ctx->tensor.dl_tensor;
    t.data = buffer->data();
    t.device = {static_cast<std::int32_t>(buffer->device()), buffer->device_id()};
    t.ndim = static_cast<std::int32_t>(ctx->shape.size());
    t.dtype = dtype;
    t.shape = ctx->shape.data();
    t.strides = nullptr;
    t.byte_offset = 0;
    ctx->tensor.manager_ctx = ctx;
    ctx->tensor.deleter = delete_managed;
    PyObject* capsule = PyCapsule_New(&ctx->tensor, "dltensor", capsule_destructor);
    if (!capsule) {
        delete ctx;
        throw pybind11::error_already_set();
    }
    return pybind11::reinterpret_steal<pybind11::capsule>(capsule);
}

}  // namespace symbreak::bindings
