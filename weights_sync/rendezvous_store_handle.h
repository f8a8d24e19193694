// File: weights_sync/rendezvous_store_handle.h
// The c10d side of RendezvousStore, for the translation units of weights_sync/ that talk to
// c10d (the store itself and the backends). Nothing outside weights_sync/ includes this.
#pragma once

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "weights_sync/rendezvous_store.h"

namespace caravan::wsync {

struct RendezvousStore::Handle {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

} // namespace caravan::wsync
