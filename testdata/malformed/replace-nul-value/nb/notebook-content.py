# Fabric notebook source
x = '{{X}}'
