# Text processing for generation (src/generate/tokenizer/): PCRE2 for tokenizer.json's split patterns
# (\p{L}, lookahead) and ICU for Unicode normalization and case mapping.
find_package(PkgConfig REQUIRED)
pkg_check_modules(TESSERA_PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_package(ICU REQUIRED COMPONENTS uc i18n)
find_package(nlohmann_json REQUIRED)
target_link_libraries(tessera_engine PUBLIC PkgConfig::TESSERA_PCRE2 ICU::uc ICU::i18n nlohmann_json::nlohmann_json)
