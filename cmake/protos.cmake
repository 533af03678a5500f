# C++ code generated from protos/: the public API (messages + gRPC services)
# and the internal storage records (messages only). Each library exposes an
# include root holding only its own generated headers.
set(WEBHOOKS_PROTO_ROOT "${CMAKE_SOURCE_DIR}/protos")
set(WEBHOOKS_GEN_ROOT "${CMAKE_BINARY_DIR}/gen")
get_target_property(WEBHOOKS_GRPC_PLUGIN gRPC::grpc_cpp_plugin LOCATION)

# webhooks_proto_library(name OUT_DIR d PROTOS a.proto GRPC)
function(webhooks_proto_library name)
  cmake_parse_arguments(ARG "GRPC" "OUT_DIR" "PROTOS;DEPS" ${ARGN})
  set(out "${WEBHOOKS_GEN_ROOT}/${ARG_OUT_DIR}")
  file(MAKE_DIRECTORY "${out}")
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base "${proto}")
    set(outputs "${out}/${base}.pb.cc" "${out}/${base}.pb.h")
    set(args --cpp_out=${out})
    if(ARG_GRPC)
      list(APPEND outputs "${out}/${base}.grpc.pb.cc" "${out}/${base}.grpc.pb.h")
      list(APPEND args --grpc_out=${out}
           --plugin=protoc-gen-grpc=${WEBHOOKS_GRPC_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc ARGS -I${WEBHOOKS_PROTO_ROOT} ${args}
              ${WEBHOOKS_PROTO_ROOT}/${proto}
      DEPENDS ${WEBHOOKS_PROTO_ROOT}/${proto} protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(${name} ${srcs})
  target_include_directories(${name} SYSTEM PUBLIC "${out}")
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
endfunction()

webhooks_proto_library(webhooks_records_proto OUT_DIR records
  PROTOS webhooks/internal/records.proto)

set(WEBHOOKS_API_PROTOS
  webhooks/v1/subscription.proto
  webhooks/v1/principal.proto
  webhooks/v1/dialect.proto
  webhooks/v1/event.proto
  webhooks/v1/delivery.proto
  webhooks/v1/config.proto
  webhooks/v1/api_key.proto)
webhooks_proto_library(webhooks_api_proto OUT_DIR api GRPC
  PROTOS ${WEBHOOKS_API_PROTOS})

# grpc.health.v1 descriptors, so reflection can describe the health service.
webhooks_proto_library(webhooks_health_proto OUT_DIR health
  PROTOS grpc/health/v1/health.proto)
