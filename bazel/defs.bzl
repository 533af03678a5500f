"""Bazel counterparts of cmake/layers.cmake and cmake/protos.cmake."""

load("@rules_cc//cc:defs.bzl", "cc_library", "cc_test")

# WEBHOOKS_WARNINGS in CMakeLists.txt: on for our own code, not for generated.
WARNINGS = [
    "-Wall",
    "-Wextra",
    "-Wpedantic",
    "-Wshadow",
    "-Wnon-virtual-dtor",
    "-Wno-unused-parameter",
]

def webhooks_layer(name, srcs = [], hdrs = [], deps = [], **kwargs):
    """One library per layer, like webhooks_layer() in cmake/layers.cmake.

    Sources include headers relative to the repository root ("core/foo.h").
    Bazel's sandbox holds only the headers of the target and its deps, so
    (as with CMake's per-layer include roots) a wrong-way include does not
    compile.
    """
    cc_library(
        name = name,
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        copts = WARNINGS + kwargs.pop("copts", []),
        **kwargs
    )

def webhooks_test(name, srcs, deps = [], **kwargs):
    """A GoogleTest binary, like webhooks_test() in cmake/layers.cmake."""
    cc_test(
        name = name,
        srcs = srcs,
        deps = deps + ["@system_libs//:gtest_main"],
        copts = WARNINGS + kwargs.pop("copts", []),
        size = kwargs.pop("size", "medium"),  # 300 s, as ctest's TIMEOUT
        **kwargs
    )

def webhooks_e2e_test(name, srcs, deps = [], **kwargs):
    """An end-to-end test in tests/ (the foreach in tests/CMakeLists.txt):
    GoogleTest over the harness, which runs //server:webhookd. Tagged "e2e",
    so `--test_tag_filters=-e2e` leaves them out."""
    cc_test(
        name = name,
        srcs = srcs,
        deps = deps + [
            "//tests:e2e_harness",
            "@system_libs//:gtest_main",
        ],
        copts = WARNINGS + kwargs.pop("copts", []),
        size = kwargs.pop("size", "medium"),
        tags = ["e2e"] + kwargs.pop("tags", []),
        **kwargs
    )

def webhooks_proto_library(name, protos, grpc = False, deps = [], **kwargs):
    """C++ code from protos/ by the system protoc (and grpc_cpp_plugin), like
    webhooks_proto_library() in cmake/protos.cmake. Call it in //protos; the
    generated headers are included as "webhooks/v1/subscription.pb.h".
    """
    outs = []
    for proto in protos:
        base = proto[:-len(".proto")]
        outs += [base + ".pb.cc", base + ".pb.h"]
        if grpc:
            outs += [base + ".grpc.pb.cc", base + ".grpc.pb.h"]
    grpc_args = ""
    if grpc:
        grpc_args = ("--grpc_out=$(RULEDIR) " +
                     "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) ")
    # The proto root (protos/ here, external/<repo>/protos elsewhere) is the
    # first proto's path without its import path.
    first = protos[0]
    native.genrule(
        name = name + "_gen",
        srcs = protos + ["@system_libs//:versions.txt"],
        outs = outs,
        cmd = ("root=$(location " + first + "); root=$${root%/" + first + "}; " +
               "protoc -I$$root --cpp_out=$(RULEDIR) " + grpc_args +
               " ".join(["$(location %s)" % p for p in protos])),
        message = "protoc " + " ".join(protos),
    )
    cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + ["@system_libs//:protobuf"] + (["@system_libs//:grpc"] if grpc else []),
        **kwargs
    )
