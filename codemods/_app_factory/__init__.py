"""The rooms of LZY004 app-factory (the codemod itself is :mod:`codemods.app_factory`): the plan
(:mod:`.plan`), the rewrite that builds ``create_app()`` (:mod:`.rewrite`) and the source of the
lazy stand-in app (:mod:`.standin`)."""
