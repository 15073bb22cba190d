"""Provider implementations, one module per kind of ``[[reasoning.providers]]`` table.

* ``openai``: any OpenAI-compatible endpoint over HTTP (:class:`OpenAICompatibleProvider`,
  :func:`probe_ollama`); its private helpers are the ``openai_*`` modules beside it.
* ``embedded``: llama.cpp running SmolLM2 from a package (an optional extra).

This package imports nothing itself, so that importing one provider never pulls in another's
vendor library (httpx, llama_cpp): import the module you need, e.g.
``from vigil.reasoning.providers.openai import OpenAICompatibleProvider``.
"""
