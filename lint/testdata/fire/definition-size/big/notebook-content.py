# Fabric notebook source
