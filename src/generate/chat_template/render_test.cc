// Each construct of the template subset and each error, through the lexer, parser and renderer. The
// expected strings are what jinja2 renders under Hugging Face's settings (tests/chat_template checks the
// real templates against jinja2 itself).
#include <gtest/gtest.h>

#include "generate/chat_template/lexer.h"
#include "generate/chat_template/parser.h"
#include "generate/chat_template/renderer.h"

namespace tessera::generate::chat_template {
namespace {

StatusOr<std::string> RenderWith(const std::string& source, const nlohmann::ordered_json& context,
                                 const RenderLimits& limits = {}) {
  TS_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  TS_ASSIGN_OR_RETURN(Body body, ParseTemplate(tokens));
  return Render(body, Value::FromJson(context).as_dict(), limits);
}

std::string R(const std::string& source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object()) {
  auto text = RenderWith(source, context);
  return text.ok() ? *text : "ERROR: " + text.status().message();
}

std::string ErrorOf(const std::string& source,
                    const nlohmann::ordered_json& context = nlohmann::ordered_json::object()) {
  auto text = RenderWith(source, context);
  return text.ok() ? "rendered: " + *text : text.status().message();
}

const nlohmann::ordered_json kChat = {
    {"messages", {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi"}}}},
    {"bos_token", "<s>"}};

TEST(ChatTemplateRender, TextAndOutput) {
  EXPECT_EQ(R("plain"), "plain");
  EXPECT_EQ(R("{{ bos_token }}{{ messages[1].content }}", kChat), "<s>Hi");
  EXPECT_EQ(R("{{ none }} {{ true }} {{ 1.0 }} {{ [1, 'a'] }} {{ {'k': none} }}"),
            "None True 1.0 [1, 'a'] {'k': None}");
}

TEST(ChatTemplateRender, IfElifElse) {
  const std::string t = "{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %}";
  EXPECT_EQ(R(t, {{"n", 1}}), "one");
  EXPECT_EQ(R(t, {{"n", 2}}), "two");
  EXPECT_EQ(R(t, {{"n", 3}}), "many");
}

TEST(ChatTemplateRender, ForLoopVariables) {
  EXPECT_EQ(
      R("{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|"
        "{% endfor %}",
        kChat),
      "10TrueFalse2|21FalseTrue2|");
  EXPECT_EQ(R("{% for m in messages %}{{ loop.revindex }}{{ loop.cycle('a', 'b') }}{% endfor %}", kChat), "2a1b");
}

TEST(ChatTemplateRender, ForLoopFilterElseAndUnpacking) {
  EXPECT_EQ(R("{% for x in [1, 2, 3] if x > 1 %}{{ x }}/{{ loop.length }}{% else %}none{% endfor %}"), "2/23/2");
  EXPECT_EQ(R("{% for x in [] %}x{% else %}none{% endfor %}"), "none");
  EXPECT_EQ(R("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  EXPECT_EQ(R("{% for k, v in {'a': 1} | items %}{{ k }}{{ v }}{% endfor %}"), "a1");
}

TEST(ChatTemplateRender, BreakAndContinue) {
  EXPECT_EQ(R("{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}{% if i > 6 %}{% break %}{% endif %}"
              "{{ i }}{% endfor %}"),
            "0246");
}

TEST(ChatTemplateRender, SetInsideALoopIsGoneAfterItButNamespacesKeep) {
  EXPECT_EQ(R("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = i * 10 %}{{ x }}{% endfor %}{{ x }}"), "1101201");
  EXPECT_EQ(R("{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
            "6");
}

TEST(ChatTemplateRender, SetForms) {
  EXPECT_EQ(R("{% set a, b = 1, 2 %}{{ a }}{{ b }}"), "12");
  EXPECT_EQ(R("{% set t = 1, %}{{ t }}"), "(1,)");
  EXPECT_EQ(R("{% set s %}x{{ 1 + 1 }}{% endset %}{{ s }}"), "x2");
}

TEST(ChatTemplateRender, Macros) {
  EXPECT_EQ(R("{% macro m(a, b=2) %}{{ a }}-{{ b }}-{{ z }}{% endmacro %}{% set z = 5 %}{{ m(1) }}{{ m(1, b=3) }}"),
            "1-2-51-3-5");
  EXPECT_EQ(R("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}"), "[]");  // a missing argument is undefined
}

TEST(ChatTemplateRender, WhitespaceControl) {
  EXPECT_EQ(R("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
  EXPECT_EQ(R("a {{- ' x ' -}} b"), "a x b");
  EXPECT_EQ(R("  {% if true %}\n    x\n  {% endif %}\ny"), "    x\ny");  // lstrip_blocks, trim_blocks
  EXPECT_EQ(R("{{ 'v' }}\nz"), "v\nz");                                  // no trim after {{ }}
  EXPECT_EQ(R("a {%+ if true %}b{% endif +%}\nc"), "a b\nc");
  EXPECT_EQ(R("{# comment #}\nx  {#- c -#}  y"), "xy");
  EXPECT_EQ(R("line\n"), "line");  // one trailing newline dropped
  EXPECT_EQ(R("a\r\nb"), "a\nb");
  EXPECT_EQ(R("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(ChatTemplateRender, Literals) {
  EXPECT_EQ(R("{{ 'it\\'s' }}{{ \"q\\\"\" }}{{ 'a\\nb' }}{{ '\\u00e9' }}"), "it'sq\"a\nbé");
  EXPECT_EQ(R("{{ 'ab' 'cd' }} {{ 1_000 }} {{ 2.5e3 }} {{ True }} {{ None }}"), "abcd 1000 2500.0 True None");
  EXPECT_EQ(R("{{ {'a': [1, (2, 3)]} }}"), "{'a': [1, (2, 3)]}");
}

TEST(ChatTemplateRender, AttributesSubscriptsAndSlices) {
  EXPECT_EQ(R("{{ messages[0].role }}{{ messages[-1]['content'] }}{{ messages.0.role }}", kChat), "systemHisystem");
  EXPECT_EQ(R("{{ 'abcdef'[1:4] }} {{ 'abc'[::-1] }} {{ [1, 2, 3, 4][::2] }} {{ [1, 2][5:] }}"), "bcd cba [1, 3] []");
  EXPECT_EQ(R("{{ '日本語'[1] }}{{ '日本語'[-1:] }}"), "本語");
  EXPECT_EQ(R("[{{ messages[0].missing }}][{{ messages[9] }}][{{ none.x }}]", kChat), "[][][]");
}

TEST(ChatTemplateRender, PythonArithmetic) {
  EXPECT_EQ(R("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 0.1 + 0.2 }}"),
            "3 -4 2 3.5 2.0 1024 0.30000000000000004");
  EXPECT_EQ(R("{{ 'ab' * 2 }} {{ [1] + [2] }} {{ 'a' ~ 1 ~ none }} {{ -(3) }} {{ true + 1 }}"),
            "abab [1, 2] a1None -3 2");
  EXPECT_EQ(R("{{ 1e20 }} {{ 1e-5 }} {{ 123.0 }} {{ 1e16 }} {{ 0.0001 }}"), "1e+20 1e-05 123.0 1e+16 0.0001");
}

TEST(ChatTemplateRender, ComparisonsAndLogic) {
  EXPECT_EQ(R("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' in 'cat' }} {{ 'x' not in ['y'] }}"),
            "True False True True True");
  EXPECT_EQ(R("{{ [] or 'empty' }} {{ 'x' and 'y' }} {{ not none }} {{ 'a' if false }}|{{ 'a' if 0 else 'b' }}"),
            "empty y True |b");
}

TEST(ChatTemplateRender, IsTests) {
  EXPECT_EQ(R("{{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }}"),
            "False True True True True");
  EXPECT_EQ(
      R("{{ true is number }} {{ true is integer }} {{ {} is mapping }} {{ 'a' is iterable }} {{ 'a' is sequence }}"),
      "True False True True True");
  EXPECT_EQ(R("{{ 2 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ true is true }} {{ 0 is false }} "
              "{{ 3 is not gt(4) }}"),
            "True True True True False True");
}

TEST(ChatTemplateRender, StringFilters) {
  EXPECT_EQ(R("{{ '  x ' | trim }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'hello wORLD' | title }}|"
              "{{ 'hELLO' | capitalize }}|{{ 'aXa' | replace('X', '-') }}"),
            "x|AB|ab|Hello World|Hello|a-a");
  EXPECT_EQ(R("{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(first=true) }}"), "a\n  b\n\n  c|    a\n    b");
  EXPECT_EQ(R("{{ 'ß' | upper }} {{ 'É' | lower }} {{ 'straße' | length }}"), "SS é 6");
  EXPECT_EQ(R("{{ '<a>' | e }} {{ '<a>' | safe }} {{ 5 | string }}"), "&lt;a&gt; <a> 5");
}

TEST(ChatTemplateRender, SequenceFilters) {
  EXPECT_EQ(
      R("{{ [1, 2] | length }} {{ [1, 2] | count }} {{ [3, 1] | first }} {{ 'abc' | last }} {{ [1, 2] | join('-') }}"),
      "2 2 3 c 1-2");
  EXPECT_EQ(R("{{ x | default('d') }} {{ '' | default('e', true) }} {{ 'v' | d('z') }}"), "d e v");
  EXPECT_EQ(R("{{ '42' | int }} {{ 'x' | int }} {{ '4.5' | float }} {{ 'ab' | list }} {{ [1, 2] | reverse | list }}"),
            "42 0 4.5 ['a', 'b'] [2, 1]");
  EXPECT_EQ(
      R("{{ messages | map(attribute='role') | join(',') }} {{ messages | selectattr('role', 'equalto', 'user') | "
        "list | length }} {{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') | first }}",
        kChat),
      "system,user 1 system");
  EXPECT_EQ(R("{{ ['b', 'A'] | sort }} {{ [2, 3, 1] | max }} {{ [1, 1, 2] | unique | list }} {{ [1, 2] | sum }}"),
            "['A', 'b'] 3 [1, 2] 3");
}

TEST(ChatTemplateRender, ToJsonKeepsKeyOrderAndText) {
  EXPECT_EQ(R("{{ {'b': 1, 'a': [1, 2.5, none, true, 'é\"\\n']} | tojson }}"),
            "{\"b\": 1, \"a\": [1, 2.5, null, true, \"é\\\"\\n\"]}");
  EXPECT_EQ(R("{{ {'a': [1], 'b': {}} | tojson(indent=2) }}"), "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
  EXPECT_EQ(R("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} {{ 'é' | tojson(ensure_ascii=true) }}"),
            "{\"a\": 2, \"b\": 1} \"\\u00e9\"");
}

TEST(ChatTemplateRender, StringMethods) {
  EXPECT_EQ(R("{{ ' a '.strip() }}|{{ 'xax'.strip('x') }}|{{ ' a'.lstrip() }}|{{ 'a '.rstrip() }}|"
              "{{ 'a b  c'.split() }}|{{ 'a,b'.split(',') }}|{{ 'a,b,c'.rsplit(',', 1) }}"),
            "a|a|a|a|['a', 'b', 'c']|['a', 'b']|['a,b', 'c']");
  EXPECT_EQ(
      R("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'ab'.upper() }} {{ 'o\\'neil'.title() }} "
        "{{ 'aaa'.replace('a', 'b', 2) }} {{ '-'.join(['a', 'b']) }}"),
      "True True AB O'Neil bba a-b");
}

TEST(ChatTemplateRender, DictMethods) {
  EXPECT_EQ(R("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 0) }} {{ d.keys() | list }} {{ d.values() | list }} "
              "{{ d.items() | list }}",
              {{"d", {{"a", 1}, {"b", 2}}}}),
            "1 None 0 ['a', 'b'] [1, 2] [('a', 1), ('b', 2)]");
}

TEST(ChatTemplateRender, GenerationBlockRendersItsBody) {
  EXPECT_EQ(R("a{% generation %}b{{ 1 }}{% endgeneration %}c"), "ab1c");
}

TEST(ChatTemplateRender, RangeNamespaceAndDictGlobals) {
  EXPECT_EQ(R("{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ dict(a=1) }} {{ namespace(a=1).a }}"),
            "[0, 1, 2] [1, 3, 5] {'a': 1} 1");
}

TEST(ChatTemplateRenderErrors, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(ErrorOf("a\n  {% if %}"), "chat template syntax error at line 2, column 9: unexpected '%}'");
  EXPECT_EQ(ErrorOf("{% for m in messages %}"),
            "chat template syntax error at line 1, column 24: unexpected end of template, expected 'endfor' or 'else'");
  EXPECT_EQ(ErrorOf("{{ 'open }}"), "chat template syntax error at line 1, column 4: unterminated string");
  EXPECT_EQ(ErrorOf("{{ x | nosuch }}"), "chat template syntax error at line 1, column 8: no filter named 'nosuch'");
  EXPECT_EQ(ErrorOf("{{ x is nosuch }}"), "chat template syntax error at line 1, column 9: no test named 'nosuch'");
  EXPECT_EQ(ErrorOf("{% endif %}"), "chat template syntax error at line 1, column 4: unknown tag 'endif'");
  EXPECT_EQ(ErrorOf("{% include 'x' %}"),
            "chat template syntax error at line 1, column 4: the 'include' tag is not supported");
  EXPECT_EQ(ErrorOf("{% break %}"), "chat template syntax error at line 1, column 4: 'break' outside of a loop");
  EXPECT_EQ(ErrorOf("{# open"), "chat template syntax error at line 1, column 1: missing end of comment tag");
  EXPECT_EQ(ErrorOf("{{ (1 }}"), "chat template syntax error at line 1, column 7: unexpected '}', expected ')'");
  EXPECT_EQ(ErrorOf("{{ 1 $ 2 }}"), "chat template syntax error at line 1, column 6: unexpected char '$'");
  EXPECT_EQ(ErrorOf("{{ 99999999999999999999 }}"),
            "chat template syntax error at line 1, column 25: integer literal 99999999999999999999 is out of the "
            "64-bit range");
}

TEST(ChatTemplateRenderErrors, RenderErrorsNameLineAndColumn) {
  EXPECT_EQ(ErrorOf("\n{{ undefined_name.attr }}"),
            "chat template error at line 2, column 18: 'undefined_name' is undefined");
  EXPECT_EQ(ErrorOf("{{ 'a' + 1 }}"),
            "chat template error at line 1, column 8: can only concatenate str (not \"int\") to str");
  EXPECT_EQ(ErrorOf("{{ 1 // 0 }}"), "chat template error at line 1, column 6: integer division or modulo by zero");
  EXPECT_EQ(ErrorOf("{% for x in 5 %}{% endfor %}"),
            "chat template error at line 1, column 4: 'int' object is not iterable");
  EXPECT_EQ(ErrorOf("{{ 'a'.nosuch() }}"),
            "chat template error at line 1, column 14: 'str object' has no attribute 'nosuch'");
  EXPECT_EQ(ErrorOf("{{ 'a' < 1 }}"),
            "chat template error at line 1, column 4: '<' not supported between instances of 'str' and 'int'");
  EXPECT_EQ(ErrorOf("{% set x.y = 1 %}"),
            "chat template error at line 1, column 4: cannot assign attribute on non-namespace object 'x'");
  EXPECT_EQ(ErrorOf("{% set a, b = [1] %}"),
            "chat template error at line 1, column 4: not enough values to unpack (expected 2, got 1)");
  EXPECT_EQ(ErrorOf("{{ {'a': 1}.append(2) }}"),
            "chat template error at line 1, column 19: 'dict object' has no attribute 'append'");
  EXPECT_EQ(ErrorOf("{{ range(1000000) }}"),
            "chat template error at line 1, column 9: range() too big: more than 100000 items");
  EXPECT_EQ(ErrorOf("{{ x | tojson }}"),
            "chat template error at line 1, column 8: Object of type Undefined is not JSON serializable");
}

TEST(ChatTemplateRenderErrors, RunawayTemplatesStop) {
  EXPECT_EQ(ErrorOf("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"),
            "chat template error at line 1, column 20: macro calls nest more than 32 deep");
  RenderLimits small;
  small.steps = 1000;
  small.output_bytes = 100;
  const std::string nested = "{% for a in range(100) %}{% for b in range(100) %}{% endfor %}{% endfor %}";
  auto steps = RenderWith(nested, nlohmann::ordered_json::object(), small);
  EXPECT_EQ(steps.status().message(),
            "chat template error at line 1, column 29: the template ran more than 1000 loop steps");
  auto output = RenderWith("{% for a in range(100) %}xx{% endfor %}", nlohmann::ordered_json::object(), small);
  EXPECT_EQ(output.status().message(), "chat template error at line 1, column 26: the output passed 100 bytes");
  EXPECT_NE(ErrorOf("{{ 'x' * 100000000 }}").find("beyond 64 MiB"), std::string::npos);
}

TEST(ChatTemplateRenderErrors, DeepNestingIsAnErrorNotAStackOverflow) {
  EXPECT_NE(ErrorOf("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}")
                .find("blocks and expressions nest more than 64 deep"),
            std::string::npos);
  std::string blocks;
  for (int i = 0; i < 1000; ++i) blocks += "{% if true %}";
  EXPECT_NE(ErrorOf(blocks).find("nest more than 64 deep"), std::string::npos);
  EXPECT_EQ(ErrorOf("{% set ns = namespace(a=[]) %}{% for i in range(100) %}{% set ns.a = [ns.a] %}{% endfor %}"),
            "chat template error at line 1, column 59: values nest more than 64 levels deep");
  EXPECT_EQ(ErrorOf("{% set ns = namespace() %}{% set ns.me = [ns] %}"),
            "chat template error at line 1, column 30: a namespace cannot hold a namespace");
}

}  // namespace
}  // namespace tessera::generate::chat_template
