// File: apps/third_party_logs.h
// Routes the log output of the libraries Caravan links (glog, which LibTorch's c10 and c10d log
// through: "Logging before InitGoogleLogging", TCPStore connect retries, ...) into Caravan's own
// log (core/log.h) as debug lines (c10d logs ERROR for a connect attempt that timed out, which
// Caravan retries and reports itself); FATAL still goes to stderr as glog writes it before aborting. So a newcomer's console shows Caravan's lines only,
// and the run directory's debug log (apps/process_log.h) keeps the libraries' lines.
//
//   int main(int argc, char** argv) {
//     caravan::apps::route_third_party_logs(argv[0]);   // first, before LibTorch logs anything
//     ...
#pragma once

namespace caravan::apps {

// Initialises glog once per process with its stderr output and log files switched off and a
// sink into core/log. Call from main() only, before any other thread starts. Not thread-safe.
void route_third_party_logs(const char* argv0);

} // namespace caravan::apps
