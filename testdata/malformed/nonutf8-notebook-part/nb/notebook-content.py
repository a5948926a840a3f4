# Fabric notebook source
print('café')
