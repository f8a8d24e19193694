# Finds every third-party dependency once and exposes it under a caravan:: name.
find_package(Threads REQUIRED)
find_package(Torch REQUIRED)
find_package(CapnProto CONFIG REQUIRED)
find_package(cppzmq CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
# PCRE2 (8-bit code units) for core/regex (tokenizer pre-split and reward format patterns); Debian's libpcre2-dev ships only pkg-config.
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# GMP (exact rationals, C++ interface gmpxx) and MPFR (certified interval bounds) for the math
# verifier in rewards/math; Debian's libgmp-dev and libmpfr-dev ship pkg-config files.
pkg_check_modules(GMP REQUIRED IMPORTED_TARGET gmpxx gmp)
pkg_check_modules(MPFR REQUIRED IMPORTED_TARGET mpfr)
# GNU libmicrohttpd for the HTTP endpoint of every process (core/metrics/exposer); Debian's
# libmicrohttpd-dev ships only pkg-config.
pkg_check_modules(MICROHTTPD REQUIRED IMPORTED_TARGET libmicrohttpd)

# LibTorch, with its ABI flag checked: every TU that passes std::string across the
# LibTorch boundary must agree with how Debian built capnp, zmq and gtest (new ABI).
if(NOT TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=1")
  message(FATAL_ERROR "LibTorch was built with '${TORCH_CXX_FLAGS}'; Caravan needs -D_GLIBCXX_USE_CXX11_ABI=1 "
                      "to link with Debian's capnp, zmq and gtest.")
endif()
add_library(caravan_torch INTERFACE)
target_link_libraries(caravan_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(caravan_torch INTERFACE ${TORCH_CXX_FLAGS})
add_library(caravan::torch ALIAS caravan_torch)
