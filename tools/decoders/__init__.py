"""Decoder (LLM) test models for tools/export_decoders.py: architectures, seeded weights, reference
greedy decoding, and the ONNX forms real exporters write (Optimum with-past, merged, ORT GenAI)."""
