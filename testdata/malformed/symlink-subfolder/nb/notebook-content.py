# Fabric notebook source
print('hi')
