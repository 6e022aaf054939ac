#!/usr/bin/python3
"""Tessera's chat templates against Python's jinja2, byte for byte.

usage: chat_template_exactness_test.py RENDER_CASES_BINARY TEMPLATES_DIR

Every template in TEMPLATES_DIR (the chat templates common model families ship, and constructs.jinja) is
rendered over every conversation below, with and without the generation prompt, by jinja2 set up as
Hugging Face's transformers sets it up (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
loopcontrols, the generation block, tojson without key sorting or ASCII escaping, raise_exception,
strftime_now) and by Tessera (the RENDER_CASES_BINARY driver). The texts must be equal; where jinja2 fails,
Tessera must fail too, and a raise_exception message must appear in Tessera's error. Short snippets then
cover single constructs the same way.
"""
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

LLAMA3 = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
SENTENCEPIECE = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
SPECIAL_TOKENS = {
    "llama3": LLAMA3, "llama3_1": LLAMA3, "llama3_2": LLAMA3,
    "llama2": SENTENCEPIECE, "mistral_instruct": SENTENCEPIECE, "mistral_v0_3_tools": SENTENCEPIECE,
    "chatml_qwen2": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen2_5": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen3": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "smollm2": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "phi3": {"bos_token": "<s>", "eos_token": "<|endoftext|>"},
    "gemma": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "gemma3": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "zephyr": {"bos_token": "<s>", "eos_token": "</s>"},
    "deepseek_llm": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "deepseek_r1": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "constructs": {"bos_token": "<s>", "eos_token": "</s>"},
}

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather in a city.",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string", "description": "City name, e.g. \"Zürich\""},
                                  "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "description": "Local time.",
                                              "parameters": {"type": "object", "properties": {}}}}

CONVERSATIONS = {
    "single_user": {"messages": [{"role": "user", "content": "Hello!"}]},
    "system_multiturn_multilingual": {"messages": [
        {"role": "system", "content": "  You are a terse assistant.\nAnswer in the user's language.  "},
        {"role": "user", "content": "Bonjour ! Qu'est-ce que « l'entropie » ?\n\nRéponds en une ligne."},
        {"role": "assistant", "content": " L'entropie mesure le désordre d'un système. "},
        {"role": "user", "content": "日本語で説明して 🙂 — and say \"thanks\" in Ελληνικά and العربية\ttoo\n"},
    ]},
    "user_assistant_no_system": {"messages": [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"},
        {"role": "user", "content": "And 3+3? Quote: 'single' \"double\" \\backslash"},
    ]},
    "wrong_role_order": {"messages": [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second user turn in a row"},
    ]},
    "assistant_first": {"messages": [
        {"role": "system", "content": "sys"},
        {"role": "assistant", "content": "I speak first."},
        {"role": "user", "content": "ok"},
    ]},
    "content_parts": {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "Describe "}, {"type": "text", "text": "this."}]},
    ]},
    "tools_and_calls": {"tools": [WEATHER_TOOL, TIME_TOOL], "messages": [
        {"role": "system", "content": "You can use tools."},
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call12345", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}}}]},
        {"role": "tool", "tool_call_id": "call12345", "content": "{\"temperature\": 21, \"sky\": \"clear\"}"},
        {"role": "user", "content": "Thanks"},
    ]},
    "tools_no_calls": {"tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": "Is it raining in Oslo?"}]},
    "thinking_off": {"variables": {"enable_thinking": False}, "messages": [{"role": "user", "content": "Hi"}]},
    "template_like_and_blank_content": {"messages": [
        {"role": "system", "content": ""},
        {"role": "user", "content": "{{ not a template }} {% if %} {# nor this #}\r\n\t  "},
        {"role": "assistant", "content": "   "},
        {"role": "user", "content": "\u200b zero width, NBSP\u00a0here, tab\tend"},
    ]},
    "parallel_tool_calls": {"tools": [WEATHER_TOOL, TIME_TOOL], "messages": [
        {"role": "user", "content": "Weather and time in Paris?"},
        {"role": "assistant", "content": "Checking both.", "tool_calls": [
            {"id": "callAAAAA", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
            {"id": "callBBBBB", "type": "function", "function": {"name": "get_time", "arguments": {}}}]},
        {"role": "tool", "tool_call_id": "callAAAAA", "content": "rain"},
        {"role": "tool", "tool_call_id": "callBBBBB", "content": "14:05"},
    ]},
}

# Single constructs, rendered over the system_multiturn_multilingual conversation.
SNIPPETS = [
    "{{ messages | length }}", "{{ messages[0].role }}{{ messages[-1]['role'] }}", "{{ messages[1:3] | length }}",
    "{% for m in messages %}{{ loop.index0 }}{{ m.role[0] }}{% endfor %}", "{{ 'abc'[::-1] }}{{ 'abcdef'[1:5:2] }}",
    "{{ [1,2,3,4][::-2] }}{{ [1,2,3][-1:] }}{{ [1,2,3][5:] }}",
    "{{ '日本語'[1] }}{{ '日本語' | length }}{{ '日本語'[::-1] }}",
    "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = i * 10 %}{{ x }}{% endfor %}{{ x }}",
    "{% for i in [1, 2] %}{% if i == 2 %}[{{ y }}]{% endif %}{% set y = i %}{% endfor %}",
    "{% macro m(a, b=2) %}{{ a }}-{{ b }}-{{ z }}{% endmacro %}{% set z = 5 %}{{ m(1) }}{{ m(1, b=3) }}{{ m() }}",
    "{{ 'a' ~ none ~ 1.0 ~ [1, 'b'] ~ {'k': True} ~ 1e20 ~ 1e-7 ~ 123456789.125 }}",
    "{{ 7 // -2 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** -1 }} {{ 10 / 5 }} {{ true + 1 }}",
    "{{ 'x' if false }}|{{ 'y' if true else 'n' }}|{{ 'a' if none else 'b' if 0 else 'c' }}",
    "{{ x | default('d') }}|{{ 0 | default('e', true) }}|{{ none | default('kept') }}",
    "{{ 'hello wORLD-foo(bar' | title }} {{ \"o'neil mcdonald\".title() }}"
    " {{ 'ß straße' | upper }} {{ 'ÉCOLE' | lower }}",
    "{{ '  a  b \\n'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a b c'.rsplit(None, 1) }}",
    "{{ 'l1\\nl2\\r\\nl3'.splitlines() }} {{ 'abcabc'.find('c') }} {{ 'abcabc'.count('bc') }}",
    "{{ [3, 1, 2] | first }} {{ 'abc' | last }} {{ {'a': 1, 'b': 2} | last }} {{ [] | first }}",
    "{% for m in [1, 2, 3] if m > 1 %}{{ loop.index }}/{{ loop.length }}{% else %}none{% endfor %}",
    "{% for m in [] %}x{% else %}empty{% endfor %}{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}",
    "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}{% for c in 'hé' %}[{{ c }}]{% endfor %}",
    "{% for i in range(10) %}{% if i is odd %}{% continue %}"
    "{% endif %}{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{{ 1 is number }} {{ true is number }} {{ true is integer }} {{ 1.0 is float }}"
    " {{ 'a' is sequence }} {{ {} is sequence }} {{ none is iterable }}",
    "{{ x is defined }} {{ x is undefined }} {{ messages is sequence }}"
    " {{ messages[0] is mapping }} {{ 3 is divisibleby 3 }} {{ 4 is not divisibleby(3) }}",
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ [1, 2] == [1, 2] }}"
    " {{ {'a': 1} == {'a': 1} }} {{ 'b' > 'a' }} {{ [1, 2] < [1, 3] }}",
    "{{ [1, 2] | join(', ') }} {{ ['a', 'b'] | map('upper') | join }}"
    " {{ [{'n': 1}, {'n': 2}] | map(attribute='n') | list }}",
    "{{ [{'n': 1}, {}] | map(attribute='n', default=0) | list }}"
    " {{ messages | selectattr('role', 'equalto', 'user') | list | length }}",
    "{{ messages | rejectattr('role', 'in', ['user', 'system']) | map(attribute='role') | list }}"
    " {{ [0, 1, '', 'a'] | select | list }} {{ [1, 2, 3, 4] | reject('odd') | list }}",
    "{{ {'b': 1, 'a': [1, 2.5, None, 'é\"\\n\\t\\u0001']} | tojson }}",
    "{{ {'b': 1, 'a': [1, {}], 'c': {'d': []}} | tojson(indent=2) }}",
    "{{ messages[1] | tojson }} {{ 'ünï' | tojson(ensure_ascii=true) }} {{ 1.5e300 | tojson }} {{ -0.0 | tojson }}",
    "{{ '  x  ' | trim }}|{{ 'xxyxx' | trim('x') }}"
    "|{{ 'aXbXc' | replace('X', '-') }}|{{ 'aXbXc' | replace('X', '', 1) }}",
    "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb\\n\\nc' | indent(2, true, true) }}|{{ '' | indent(first=true) }}",
    "{{ '42' | int }} {{ ' 42 ' | int }} {{ '4.7' | int }} {{ 'x' | int }}"
    " {{ 3.9 | int }} {{ 'ff' | int(base=16) }} {{ '1_000' | int }}",
    "{{ 'x' | string }}{{ 1 | string }}{{ none | string }}{{ [1] | string }}{{ {'a': none} | string }}",
    "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }}"
    " {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [1, 1, 2] | unique | list }}",
    "{{ 'ab' * 3 }} {{ [1] * 2 }} {{ [1] + [2] }} {{ 'a' + 'b' }} {{ -(3) }} {{ +4 }} {{ -x | default(1) }}",
    "{{ {'a': 1}.get('a') }} {{ {'a': 1}.get('b') }} {{ {'a': 1}['a'] }}"
    " {{ {'a': 1}.items() | list }} {{ {'a': {'b': 'c'}}.a.b }}",
    "{% set ns = namespace(a=1) %}{% set ns.a = ns.a + 1 %}{% set ns.b = 'x' %}{{ ns.a }}{{ ns.b }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, %}{{ t }}",
    "{%- if true -%}\n   trimmed   \n{%- endif -%}\n|{{- ' x ' -}}|  {#- comment -#}  |",
    "  {% if true %}\n    indented\n  {% endif %}\n{{ 'var' }}\n{# comment #}\nafter",
    "a {%+ if true %}b{% endif +%}\nc\n  {%- if true %} d{% endif %}",
    "{% raw %}{{ raw }}{% endraw %}{% raw -%}  x  {%- endraw %}",
    "{{ 'multi'\n   'line' }} {{ \"adjacent\" ' strings' }}",
    "{% set s %}block {{ 1 + 1 }}{% endset %}{{ s | upper }}",
    "{{ raise_exception('custom failure: ' ~ messages | length) }}",
    "{{ messages[0].content.nope.deeper }}",
    "{{ undefined_name.attr }}",
    "{{ 'a' + 1 }}",
    "{{ 1 / 0 }}",
    "{% for x in 5 %}{% endfor %}",
    "{{ messages[0].role | nosuchfilter }}",
    "{% if %}{% endif %}",
    "{% for m in messages %}",
    "{{ 'unterminated }}",
    "{% endfor %}",
    "{% include 'x' %}",
]


class GenerationBlock(Extension):
    """{% generation %}...{% endgeneration %}, rendered as its body (transformers marks assistant spans)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


class RaisedByTemplate(Exception):
    pass


def hf_environment():
    def raise_exception(message):
        raise RaisedByTemplate(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


def reference(env, case):
    """(text, None), or (None, (kind, message)) where kind is 'raised' for raise_exception."""
    try:
        template = env.from_string(case["template"])
        return template.render(messages=case["messages"], tools=case["tools"], documents=None,
                               add_generation_prompt=case["add_generation_prompt"], **case["special_tokens"],
                               **case["variables"]), None
    except RaisedByTemplate as e:
        return None, ("raised", str(e))
    except Exception as e:  # noqa: BLE001 - any jinja2 failure is an expected failure for Tessera too
        return None, (type(e).__name__, str(e))


def first_difference(a, b):
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"at char {i}: jinja2 {a[max(0, i - 30):i + 30]!r}\n      tessera {b[max(0, i - 30):i + 30]!r}"


def main():
    binary, templates_dir = sys.argv[1], sys.argv[2]
    cases = []
    for file in sorted(os.listdir(templates_dir)):
        name, ext = os.path.splitext(file)
        if ext != ".jinja":
            continue
        with open(os.path.join(templates_dir, file), encoding="utf-8") as f:
            source = f.read()
        for conv_name, conv in CONVERSATIONS.items():
            for add_prompt in (True, False):
                cases.append({"id": f"{name}/{conv_name}/{'prompt' if add_prompt else 'no_prompt'}",
                              "template": source, "special_tokens": SPECIAL_TOKENS.get(name, {}),
                              "messages": conv["messages"], "tools": conv.get("tools"),
                              "variables": conv.get("variables", {}), "add_generation_prompt": add_prompt})
    for i, snippet in enumerate(SNIPPETS):
        cases.append({"id": f"snippet{i}: {snippet[:60]}", "template": snippet, "special_tokens": LLAMA3,
                      "messages": CONVERSATIONS["system_multiturn_multilingual"]["messages"], "tools": None,
                      "variables": {}, "add_generation_prompt": True})

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False)
        path = f.name
    try:
        run = subprocess.run([binary, path], capture_output=True, timeout=60)
    finally:
        os.unlink(path)
    if run.returncode != 0:
        print(f"FAIL: {binary} exited {run.returncode}: {run.stderr.decode(errors='replace')}")
        return 1
    results = json.loads(run.stdout.decode("utf-8"))

    env = hf_environment()
    failures, texts, errors = [], 0, 0
    for case, got in zip(cases, results):
        want, failure = reference(env, case)
        if failure is None:
            texts += 1
            if "error" in got:
                failures.append(f"{case['id']}: jinja2 rendered, Tessera failed: {got['error']}")
            elif got["text"] != want:
                failures.append(f"{case['id']}: texts differ {first_difference(want, got['text'])}")
        else:
            errors += 1
            kind, message = failure
            if "error" not in got:
                failures.append(f"{case['id']}: jinja2 failed ({kind}: {message}), "
                                f"Tessera rendered {got['text'][:80]!r}")
            elif kind == "raised" and message not in got["error"]:
                failures.append(f"{case['id']}: raise_exception({message!r}) but Tessera said: {got['error']}")
    templates = len({c["id"].split("/")[0] for c in cases if "/" in c["id"] and not c["id"].startswith("snippet")})
    print(f"{len(cases)} cases ({templates} templates x {len(CONVERSATIONS)} conversations x 2, "
          f"{len(SNIPPETS)} snippets): {texts} rendered, {errors} expected failures, {len(failures)} mismatches")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
