secret = "not for Fabric"
