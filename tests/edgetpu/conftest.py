from edgetpu_models import edgetpu_models  # noqa: F401  (session fixture shared by the tests)
