from tests.objects.s3server import moto_endpoint, s3_location

__all__ = ["moto_endpoint", "s3_location"]
