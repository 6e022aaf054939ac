// The op audit: which operator versions of ai.onnx (opsets 1-24) and ai.onnx.ml have no kernel in
// Tessera's KernelRegistry.
//
// Reads op_versions_24.txt (make_op_versions.py: every op with the opsets at which it changed) and asks
// the registry, for each op and each of its versions, whether a kernel covers that opset. Versions that
// none covers are printed; the run fails when one is missing that the committed list of known gaps
// (ops_without_kernel.txt, one "domain op version  # reason" a line) does not name, and reports listed
// gaps that a kernel now covers so the list can be trimmed. Ops introduced after opset 24 (flag later@N)
// are reported separately and never fail the run.
//
// usage: op_coverage --table FILE [--known-gaps FILE] [--all | --markdown]
//   --all       also print every covered op version
//   --markdown  print the audit as a Markdown table instead (one row per op: versions, those without a
//               kernel, and the known gap's reason), for docs/op_audit_24.md
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ops/registry.h"

using namespace tessera;

namespace {

struct TableRow {
  std::string domain, op;
  std::vector<int> versions;  // newest first
  bool function = false;
  int later = 0;  // introduced after opset 24, at this opset
};

std::vector<TableRow> ReadTable(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open " + path;
    return {};
  }
  std::vector<TableRow> rows;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    TableRow row;
    std::string versions, flag;
    if (!(fields >> row.domain >> row.op >> versions)) {
      *error = path + ":" + std::to_string(line_no) + ": expected 'domain op versions [flags]'";
      return {};
    }
    std::istringstream list(versions);
    for (std::string v; std::getline(list, v, ',');) row.versions.push_back(std::stoi(v));
    while (fields >> flag) {
      if (flag == "function") row.function = true;
      if (flag.rfind("later@", 0) == 0) row.later = std::stoi(flag.substr(6));
    }
    rows.push_back(row);
  }
  return rows;
}

// "domain op version" keys of the known gaps.
std::set<std::string> ReadKnownGaps(const std::string& path) {
  std::set<std::string> gaps;
  if (path.empty()) return gaps;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    std::string domain, op, version;
    if (fields >> domain >> op >> version) gaps.insert(domain + " " + op + " " + version);
  }
  return gaps;
}

// "domain op version" -> reason, from the known-gaps file's comments.
std::map<std::string, std::string> ReadGapReasons(const std::string& path) {
  std::map<std::string, std::string> reasons;
  if (path.empty()) return reasons;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t hash = line.find('#');
    std::istringstream fields(line.substr(0, hash));
    std::string domain, op, version;
    if (!(fields >> domain >> op >> version)) continue;
    std::string reason = hash == std::string::npos ? "" : line.substr(hash + 1);
    while (!reason.empty() && reason.front() == ' ') reason.erase(reason.begin());
    reasons[domain + " " + op + " " + version] = reason;
  }
  return reasons;
}

std::string RegistryDomain(const std::string& table_domain) {
  return table_domain == "ai.onnx" ? "" : table_domain;
}

}  // namespace

int main(int argc, char** argv) {
  std::string table_path, gaps_path;
  bool print_all = false, markdown = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--table" && i + 1 < argc) {
      table_path = argv[++i];
    } else if (arg == "--known-gaps" && i + 1 < argc) {
      gaps_path = argv[++i];
    } else if (arg == "--all") {
      print_all = true;
    } else if (arg == "--markdown") {
      markdown = true;
    } else {
      std::cerr << "usage: op_coverage --table FILE [--known-gaps FILE] [--all | --markdown]\n";
      return 2;
    }
  }
  std::string error;
  std::vector<TableRow> rows = ReadTable(table_path, &error);
  if (!error.empty()) {
    std::cerr << "op_coverage: " << error << "\n";
    return 2;
  }
  const std::set<std::string> known_gaps = ReadKnownGaps(gaps_path);
  const KernelRegistry& registry = KernelRegistry::Global();
  if (markdown) {
    const auto reasons = ReadGapReasons(gaps_path);
    std::cout << "| domain | op | versions | without a kernel | why |\n|---|---|---|---|---|\n";
    for (const TableRow& row : rows) {
      std::vector<int> versions = row.later ? std::vector<int>{row.later} : row.versions;
      std::string all, missing, why;
      for (int v : versions) {
        all += (all.empty() ? "" : ", ") + std::to_string(v);
        if (registry.Find(row.op, RegistryDomain(row.domain), v) == nullptr) {
          missing += (missing.empty() ? "" : ", ") + std::to_string(v);
          auto it = reasons.find(row.domain + " " + row.op + " " + std::to_string(v));
          if (it != reasons.end() && why.find(it->second) == std::string::npos) {
            why += (why.empty() ? "" : "; ") + it->second;
          }
        }
      }
      if (row.later) all += " (after opset 24)";
      std::cout << "| " << row.domain << " | " << row.op << (row.function ? " (function)" : "") << " | " << all
                << " | " << (missing.empty() ? "-" : missing) << " | " << why << " |\n";
    }
    return 0;
  }

  int versions_total = 0, versions_covered = 0, ops_total = 0, ops_full = 0;
  std::vector<std::string> unexpected, fixed;
  for (const TableRow& row : rows) {
    const std::string domain = RegistryDomain(row.domain);
    if (row.later) {
      const bool has = registry.Find(row.op, domain, row.later) != nullptr;
      std::cout << (has ? "covered   " : "no kernel ") << row.domain << " " << row.op << " " << row.later
                << " (introduced after opset 24)\n";
      continue;
    }
    ++ops_total;
    bool all_covered = true;
    for (int version : row.versions) {
      const std::string key = row.domain + " " + row.op + " " + std::to_string(version);
      ++versions_total;
      if (registry.Find(row.op, domain, version) != nullptr) {
        ++versions_covered;
        if (known_gaps.count(key)) fixed.push_back(key);
        if (print_all) std::cout << "covered   " << key << "\n";
        continue;
      }
      all_covered = false;
      std::cout << "no kernel " << key << (row.function ? " (function op)" : "")
                << (known_gaps.count(key) ? " [known]" : "") << "\n";
      if (!known_gaps.count(key)) unexpected.push_back(key);
    }
    if (all_covered) ++ops_full;
  }
  std::cout << "op_coverage: " << ops_full << " of " << ops_total << " ops have a kernel for every version; "
            << versions_covered << " of " << versions_total << " op versions covered\n";
  for (const std::string& key : fixed) std::cout << "now covered, remove from the known gaps: " << key << "\n";
  for (const std::string& key : unexpected) std::cout << "MISSING (not a known gap): " << key << "\n";
  return unexpected.empty() ? 0 : 1;
}
