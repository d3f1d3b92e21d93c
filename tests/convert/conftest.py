from keras_test_models import digits_model  # noqa: F401  (session fixture shared by the tests)
